import { Entity, stringifyEntityRef } from '@backstage/catalog-model';
import { InfoCard, LinkButton, Progress } from '@backstage/core-components';
import { useApi, useRouteRef } from '@backstage/frontend-plugin-api';
import {
  CATALOG_FILTER_EXISTS,
  catalogApiRef,
  useEntity,
} from '@backstage/plugin-catalog-react';
import { usePermission } from '@backstage/plugin-permission-react';
import {
  LIFECYCLE_ACTION_ANNOTATION,
  serviceDecommissionPermission,
  serviceUpgradePermission,
} from '@internal/plugin-golden-path-common';
import Typography from '@material-ui/core/Typography';
import useAsync from 'react-use/esm/useAsync';
import { scaffolderTemplateRouteRef } from '../routes';

type TemplateRef = { namespace: string; name: string };

/**
 * The lifecycle templates, by the action their annotation names
 * (`decommission`, `upgrade`), read with one catalog query for the card.
 */
export function useLifecycleTemplates() {
  const catalogApi = useApi(catalogApiRef);
  return useAsync(async () => {
    const { items } = await catalogApi.getEntities({
      filter: {
        kind: 'Template',
        [`metadata.annotations.${LIFECYCLE_ACTION_ANNOTATION}`]:
          CATALOG_FILTER_EXISTS,
      },
      fields: [
        'metadata.name',
        'metadata.namespace',
        `metadata.annotations.${LIFECYCLE_ACTION_ANNOTATION}`,
      ],
    });
    const byAction = new Map<string, TemplateRef>();
    for (const t of items) {
      const action = t.metadata.annotations?.[LIFECYCLE_ACTION_ANNOTATION];
      if (action && !byAction.has(action)) {
        byAction.set(action, {
          namespace: t.metadata.namespace ?? 'default',
          name: t.metadata.name,
        });
      }
    }
    return byAction;
  }, [catalogApi]);
}

/** The template's form with `values` filled in. */
export function useTemplateFormLink(
  template: TemplateRef | undefined,
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
 * One lifecycle action: a button that opens the template annotated for it
 * with `values` filled in, shown only to those the permission policy allows
 * (`who` says who may, to everyone else).
 */
function LifecycleAction(props: {
  action: 'upgrade' | 'decommission';
  label: string;
  /** A permission on the service's catalog entity (both are ResourcePermission<'catalog-entity'>). */
  permission: typeof serviceUpgradePermission;
  values: Record<string, unknown>;
  who: string;
  color: 'primary' | 'secondary';
  templates: { loading: boolean; value?: Map<string, TemplateRef> };
}) {
  const { entity } = useEntity();
  const permission = usePermission({
    permission: props.permission,
    resourceRef: stringifyEntityRef(entity),
  });
  const href = useTemplateFormLink(
    props.templates.value?.get(props.action),
    props.values,
  );

  if (permission.loading || props.templates.loading) return <Progress />;
  if (!permission.allowed) {
    return (
      <Typography variant="body2" color="textSecondary" paragraph>
        {props.who}
      </Typography>
    );
  }
  if (!href) {
    return (
      <Typography variant="body2" color="textSecondary" paragraph>
        {`No ${props.action} template is registered in the catalog.`}
      </Typography>
    );
  }
  return (
    <LinkButton to={href} variant="outlined" color={props.color}>
      {props.label}
    </LinkButton>
  );
}

/**
 * What can be done with the service as a whole: Upgrade (re-render its
 * GitOps repository with the current golden path, as a merge request) and
 * Decommission, each shown only to those the permission policy allows (the
 * service's owners and platform admins) and opening its template with the
 * name filled in; the templates do the work.
 */
export function LifecycleCard() {
  const { entity } = useEntity();
  const name = entity.metadata.name;
  const owner = ownerOf(entity);
  const owners = `the owners of ${name}${owner ? ` (${owner})` : ''} and platform admins`;
  const templates = useLifecycleTemplates();

  return (
    <InfoCard title="Lifecycle">
      <div data-testid="lifecycle-card">
        <Typography variant="body2" paragraph>
          Upgrade opens a merge request in {name}&apos;s GitOps repository with
          what the current golden path renders differently; hand edits are
          kept or shown as conflicts.
        </Typography>
        <LifecycleAction
          action="upgrade"
          label="Upgrade"
          permission={serviceUpgradePermission}
          values={{ scope: 'one', name }}
          who={`Only ${owners} can upgrade it.`}
          color="primary"
          templates={templates}
        />
        <Typography variant="body2" paragraph style={{ marginTop: 16 }}>
          Decommission removes what {name} runs on: its ArgoCD application and
          namespace, its image registry, its cloud credentials and its catalog
          entry. Its two repositories are archived, not deleted, so no code is
          lost.
        </Typography>
        <LifecycleAction
          action="decommission"
          label="Decommission"
          permission={serviceDecommissionPermission}
          values={{ name }}
          who={`Only ${owners} can decommission it.`}
          color="secondary"
          templates={templates}
        />
      </div>
    </InfoCard>
  );
}
