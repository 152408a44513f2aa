import { createExternalRouteRef } from '@backstage/frontend-plugin-api';

/**
 * A template's form in the scaffolder (`/create/templates/:namespace/:templateName`
 * by default). Bound to the scaffolder plugin's `selectedTemplate` route
 * unless the app binds it elsewhere.
 */
export const scaffolderTemplateRouteRef = createExternalRouteRef({
  params: ['namespace', 'templateName'],
  defaultTarget: 'scaffolder.selectedTemplate',
});
