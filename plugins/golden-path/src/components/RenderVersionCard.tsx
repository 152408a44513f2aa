import {
  InfoCard,
  Link,
  Progress,
  ResponseErrorPanel,
} from '@backstage/core-components';
import { stringifyEntityRef } from '@backstage/catalog-model';
import { useApi } from '@backstage/frontend-plugin-api';
import { useEntity } from '@backstage/plugin-catalog-react';
import Typography from '@material-ui/core/Typography';
import { UpgradeStatus } from '@internal/plugin-golden-path-common';
import useAsync from 'react-use/esm/useAsync';
import { goldenPathApiRef } from '../api';
import { Field } from './Field';
import { StatusLabel } from './StatusLabel';

function UpgradeState(props: { status: UpgradeStatus }) {
  const { status } = props;
  const { renderVersion, currentRenderVersion, mergeRequest } = status;
  let state;
  if (mergeRequest) {
    // The link stays outside the status indicator, which screen readers skip.
    state = (
      <>
        <StatusLabel tone="warning">Upgrade waiting:</StatusLabel>{' '}
        <Link to={mergeRequest.url} title={mergeRequest.title}>
          {`MR !${mergeRequest.iid}`}
        </Link>
      </>
    );
  } else if (renderVersion === null) {
    state = (
      <StatusLabel tone="aborted">
        Not recorded: created before the golden path recorded its inputs
      </StatusLabel>
    );
  } else if (status.upgradeWaiting) {
    state = (
      <StatusLabel tone="warning">
        Upgrade waiting: render version {currentRenderVersion} is out; ask a
        platform admin, or run “Upgrade services to the current golden path”
      </StatusLabel>
    );
  } else {
    state = <StatusLabel tone="ok">Up to date</StatusLabel>;
  }
  return (
    <>
      <Field label="Render version">
        {renderVersion === null ? 'Unknown' : String(renderVersion)}
        {` (current ${currentRenderVersion})`}
      </Field>
      <Field label="Golden path">{state}</Field>
    </>
  );
}

/**
 * The service's render version (what its GitOps manifests were last
 * rendered with) and whether an upgrade is waiting: an open upgrade merge
 * request, or a newer render version than its record.
 */
export function RenderVersionCard() {
  const { entity } = useEntity();
  const api = useApi(goldenPathApiRef);
  const entityRef = stringifyEntityRef(entity);
  const { value, loading, error } = useAsync(
    () => api.getUpgradeStatus(entityRef),
    [entityRef, api],
  );

  let content;
  if (loading) {
    content = <Progress />;
  } else if (error) {
    content = (
      <ResponseErrorPanel title="Could not read the render version" error={error} />
    );
  } else if (!value) {
    content = (
      <Typography variant="body2">No GitOps repository of this service</Typography>
    );
  } else {
    content = <UpgradeState status={value} />;
  }
  return (
    <div data-testid="render-version-card">
      <InfoCard title="Golden path version">{content}</InfoCard>
    </div>
  );
}
