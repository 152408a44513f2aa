import { createApp } from '@backstage/frontend-defaults';
import catalogPlugin from '@backstage/plugin-catalog/alpha';
import goldenPathPlugin from '@internal/plugin-golden-path';
import { navModule } from './modules/nav';
import { homeModule } from './modules/home';
import { authModule } from './modules/auth';

export default createApp({
  features: [
    catalogPlugin,
    goldenPathPlugin,
    navModule,
    homeModule,
    authModule,
  ],
});
