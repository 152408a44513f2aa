import { PlatformSettings } from '../render/types';
import { StepClients } from '../steps';
import { ServiceRuns } from './runs';

/** Everything an action needs, built once by module.ts and injected. */
export interface ActionDeps {
  settings: PlatformSettings;
  clients: StepClients;
  runs: ServiceRuns;
}
