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

export type { ActionDeps } from './deps';
export { ServiceRuns } from './runs';

/**
 * Every golden-path action. The templates run validate, settings, name
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
