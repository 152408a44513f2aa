export { createPlatformNameValidateAction } from './platformNameValidate';
export { createPlatformSettingsReadAction } from './platformSettingsRead';
export { createPlatformNameCheckAction } from './platformNameCheck';
export { createGitlabRepositoriesEnsureAction } from './gitlabRepositoriesEnsure';
export { createAwsEcrEnsureAction } from './awsEcrEnsure';
export { createArgocdApplicationEnsureAction } from './argocdApplicationEnsure';
export { createKubernetesBundleApplyAction } from './kubernetesBundleApply';
export { createCatalogEntityRegisterAction } from './catalogEntityRegister';
export { createPlatformServiceProvisionAction } from './platformServiceProvision';
export type { ActionDeps } from './deps';

import { ActionDeps } from './deps';
import { createPlatformNameValidateAction } from './platformNameValidate';
import { createPlatformSettingsReadAction } from './platformSettingsRead';
import { createPlatformNameCheckAction } from './platformNameCheck';
import { createGitlabRepositoriesEnsureAction } from './gitlabRepositoriesEnsure';
import { createAwsEcrEnsureAction } from './awsEcrEnsure';
import { createArgocdApplicationEnsureAction } from './argocdApplicationEnsure';
import { createKubernetesBundleApplyAction } from './kubernetesBundleApply';
import { createCatalogEntityRegisterAction } from './catalogEntityRegister';
import { createPlatformServiceProvisionAction } from './platformServiceProvision';

/**
 * Every golden-path action. The template runs validate, settings, name
 * check, provision (the parallel saga) and register; the single-system
 * actions are there for templates that compose their own order.
 */
export function createGoldenPathActions(deps: ActionDeps) {
  return [
    createPlatformNameValidateAction(deps),
    createPlatformSettingsReadAction(deps),
    createPlatformNameCheckAction(deps),
    createPlatformServiceProvisionAction(deps),
    createGitlabRepositoriesEnsureAction(deps),
    createAwsEcrEnsureAction(deps),
    createArgocdApplicationEnsureAction(deps),
    createKubernetesBundleApplyAction(deps),
    createCatalogEntityRegisterAction(deps),
  ];
}
