import {
  InfoCard,
  Link,
  Progress,
  ResponseErrorPanel,
  WarningPanel,
} from '@backstage/core-components';
import { useEntity } from '@backstage/plugin-catalog-react';
import Typography from '@material-ui/core/Typography';
import useAsync from 'react-use/esm/useAsync';
import { goldenPathApiRef } from '../api';
import { useApi } from '@backstage/frontend-plugin-api';
import { stringifyEntityRef } from '@backstage/catalog-model';
import { argoCdAppNameOf } from '../filters';
import { ArgoCdApplicationStatus } from '@internal/plugin-golden-path-common';
import { Field } from './Field';
import { argoCdHealthTone, argoCdSyncTone, StatusLabel } from './StatusLabel';
import { absoluteTime, relativeTime, shortSha } from './time';

function ApplicationStatus(props: { app: ArgoCdApplicationStatus }) {
  const { app } = props;
  return (
    <>
      <Field label="Sync status">
        <StatusLabel tone={argoCdSyncTone(app.sync)}>{app.sync}</StatusLabel>
      </Field>
      <Field label="Health">
        <StatusLabel tone={argoCdHealthTone(app.health)}>
          {app.health}
        </StatusLabel>
      </Field>
      <Field label="Last sync">
        {app.lastSyncedAt ? (
          <span title={absoluteTime(app.lastSyncedAt)}>
            {relativeTime(app.lastSyncedAt)}
          </span>
        ) : (
          'Never synced'
        )}
      </Field>
      <Field label="Revision">
        {app.revision ? (
          <code title={app.revision}>{shortSha(app.revision)}</code>
        ) : (
          'Unknown'
        )}
      </Field>
      <Typography variant="body2" component="div">
        <Link to={app.url}>Open in ArgoCD</Link>
        {app.repoUrl && (
          <>
            {' · '}
            <Link to={app.repoUrl}>GitOps repository</Link>
          </>
        )}
      </Typography>
    </>
  );
}

/** Sync status, health, last sync and revision of the entity's ArgoCD Application. */
export function ArgoCdCard() {
  const { entity } = useEntity();
  const name = argoCdAppNameOf(entity);
  const api = useApi(goldenPathApiRef);
  const entityRef = stringifyEntityRef(entity);
  const { value, loading, error } = useAsync(
    async () => (name ? api.getArgoCdApplication(entityRef) : undefined),
    [name, entityRef, api],
  );

  let content;
  if (loading) {
    content = <Progress />;
  } else if (error) {
    content = (
      <ResponseErrorPanel
        title="Could not read the ArgoCD application"
        error={error}
      />
    );
  } else if (!value) {
    content = (
      <WarningPanel
        title="ArgoCD application not found"
        message={`ArgoCD has no application named '${name}'.`}
      />
    );
  } else {
    content = <ApplicationStatus app={value} />;
  }

  return (
    <div data-testid="argocd-card">
      <InfoCard title="ArgoCD" subheader={name}>
        {content}
      </InfoCard>
    </div>
  );
}
