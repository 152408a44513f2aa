import { Entity, stringifyEntityRef } from '@backstage/catalog-model';
import { InfoCard, LinkButton, Progress } from '@backstage/core-components';
import { useApi, useRouteRef } from '@backstage/frontend-plugin-api';
import { catalogApiRef, useEntity } from '@backstage/plugin-catalog-react';
import { usePermission } from '@backstage/plugin-permission-react';
import {
  LIFECYCLE_ACTION_ANNOTATION,
  serviceDecommissionPermission,
} from '@internal/plugin-golden-path-common';
import Typography from '@material-ui/core/Typography';
import useAsync from 'react-use/esm/useAsync';
import { scaffolderTemplateRouteRef } from '../routes';

/** The template that performs `action` on a service, found by its annotation. */
export function useLifecycleTemplate(action: string) {
  const catalogApi = useApi(catalogApiRef);
  return useAsync(async () => {
    const { items } = await catalogApi.getEntities({
      filter: {
        kind: 'Template',
        [`metadata.annotations.${LIFECYCLE_ACTION_ANNOTATION}`]: action,
      },
      fields: ['metadata.name', 'metadata.namespace'],
    });
    const [template] = items;
    return template
      ? {
          namespace: template.metadata.namespace ?? 'default',
          name: template.metadata.name,
        }
      : undefined;
  }, [catalogApi, action]);
}

/** The template's form with `values` filled in. */
export function useTemplateFormLink(
  template: { namespace: string; name: string } | undefined,
  values: Record<string, unknown>,
): string | undefined {
  const templateRoute = useRouteRef(scaffolderTemplateRouteRef);
  if (!template) return undefined;
  const path = templateRoute
    ? templateRoute({
        namespace: template.namespace,
        templateName: template.name,
      })
    : `/create/templates/${template.namespace}/${template.name}`;
  return `${path}?${new URLSearchParams({ formData: JSON.stringify(values) })}`;
}

function ownerOf(entity: Entity): string | undefined {
  const owner = entity.spec?.owner;
  return typeof owner === 'string' ? owner : undefined;
}

/**
 * What can be done with the service as a whole. Today: Decommission, shown
 * only to those the permission policy allows (the service's owners and
 * platform admins), and opening the "Decommission a service" template with
 * the name filled in; the template asks for it again and does the work.
 */
export function LifecycleCard() {
  const { entity } = useEntity();
  const entityRef = stringifyEntityRef(entity);
  const name = entity.metadata.name;
  const permission = usePermission({
    permission: serviceDecommissionPermission,
    resourceRef: entityRef,
  });
  const template = useLifecycleTemplate('decommission');
  const href = useTemplateFormLink(template.value, { name });
  const owner = ownerOf(entity);

  let action;
  if (permission.loading || template.loading) {
    action = <Progress />;
  } else if (!permission.allowed) {
    action = (
      <Typography variant="body2" color="textSecondary">
        {`Only the owners of ${name}${
          owner ? ` (${owner})` : ''
        } and platform admins can decommission it.`}
      </Typography>
    );
  } else if (!href) {
    action = (
      <Typography variant="body2" color="textSecondary">
        No decommission template is registered in the catalog.
      </Typography>
    );
  } else {
    action = (
      <LinkButton to={href} variant="outlined" color="secondary">
        Decommission
      </LinkButton>
    );
  }

  return (
    <InfoCard title="Lifecycle">
      <div data-testid="lifecycle-card">
        <Typography variant="body2" paragraph>
          Decommission removes what {name} runs on: its ArgoCD application and
          namespace, its image registry, its cloud credentials and its catalog
          entry. Its two repositories are archived, not deleted, so no code is
          lost.
        </Typography>
        {action}
      </div>
    </InfoCard>
  );
}
