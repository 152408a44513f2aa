import {
  InfoCard,
  Link,
  Progress,
  ResponseErrorPanel,
} from '@backstage/core-components';
import { useEntity } from '@backstage/plugin-catalog-react';
import Typography from '@material-ui/core/Typography';
import useAsync from 'react-use/esm/useAsync';
import { goldenPathApiRef } from '../api';
import { useApi } from '@backstage/frontend-plugin-api';
import { stringifyEntityRef } from '@backstage/catalog-model';
import { gitLabProjectOf } from '../filters';
import { LatestPipeline } from '@internal/plugin-golden-path-common';
import { Field } from './Field';
import { pipelineTone, StatusLabel } from './StatusLabel';
import { absoluteTime, relativeTime, shortSha } from './time';

function PipelineStatus(props: { pipeline: LatestPipeline }) {
  const { pipeline } = props;
  return (
    <>
      <Field label="Status">
        <StatusLabel tone={pipelineTone(pipeline.status)}>
          {pipeline.status}
        </StatusLabel>
      </Field>
      <Field label="Stages">
        {pipeline.stages.length === 0 ? (
          'No jobs'
        ) : (
          <ol
            data-testid="pipeline-stages"
            style={{ margin: 0, paddingLeft: 0, listStyle: 'none' }}
          >
            {pipeline.stages.map(stage => (
              <li key={stage.name} data-testid="pipeline-stage">
                <StatusLabel tone={pipelineTone(stage.status)}>
                  {`${stage.name}: ${stage.status}`}
                </StatusLabel>
              </li>
            ))}
          </ol>
        )}
      </Field>
      <Field label="When">
        <span title={absoluteTime(pipeline.createdAt)}>
          {relativeTime(pipeline.createdAt)}
        </span>
        {' on '}
        <code>{pipeline.ref}</code>
        {' at '}
        <code title={pipeline.sha}>{shortSha(pipeline.sha)}</code>
      </Field>
      <Typography variant="body2" component="div">
        <Link to={pipeline.webUrl}>Open pipeline</Link>
      </Typography>
    </>
  );
}

/** The latest GitLab pipeline of the entity's repository, stage by stage. */
export function PipelineCard() {
  const { entity } = useEntity();
  const project = gitLabProjectOf(entity);
  const api = useApi(goldenPathApiRef);
  const entityRef = stringifyEntityRef(entity);
  const { value, loading, error } = useAsync(
    async () => (project ? api.getLatestPipeline(entityRef) : undefined),
    [project, entityRef, api],
  );

  let content;
  if (loading) {
    content = <Progress />;
  } else if (error) {
    content = (
      <ResponseErrorPanel title="Could not read the pipeline" error={error} />
    );
  } else if (!value) {
    content = <Typography variant="body2">No pipeline has run yet</Typography>;
  } else {
    content = <PipelineStatus pipeline={value} />;
  }

  return (
    <div data-testid="pipeline-card">
      <InfoCard
        title="Latest pipeline"
        subheader={value ? `#${value.id} of ${project}` : project}
      >
        {content}
      </InfoCard>
    </div>
  );
}
