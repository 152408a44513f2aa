import {
  StatusAborted,
  StatusError,
  StatusOK,
  StatusPending,
  StatusRunning,
  StatusWarning,
} from '@backstage/core-components';
import { ComponentType, PropsWithChildren, ReactNode } from 'react';

/** How a status looks: one of the core-components status indicators. */
export type StatusTone =
  | 'ok'
  | 'warning'
  | 'error'
  | 'pending'
  | 'running'
  | 'aborted';

const INDICATORS: Record<StatusTone, ComponentType<PropsWithChildren<{}>>> = {
  ok: StatusOK,
  warning: StatusWarning,
  error: StatusError,
  pending: StatusPending,
  running: StatusRunning,
  aborted: StatusAborted,
};

/** ArgoCD's sync status: `Synced`, `OutOfSync`, `Unknown`. */
export function argoCdSyncTone(status: string): StatusTone {
  if (status === 'Synced') return 'ok';
  if (status === 'OutOfSync') return 'warning';
  return 'aborted';
}

/** ArgoCD's health status. */
export function argoCdHealthTone(status: string): StatusTone {
  switch (status) {
    case 'Healthy':
      return 'ok';
    case 'Progressing':
      return 'running';
    case 'Degraded':
    case 'Missing':
      return 'error';
    case 'Suspended':
      return 'pending';
    default:
      return 'aborted';
  }
}

/** A GitLab pipeline, stage or job status. */
export function pipelineTone(status: string): StatusTone {
  switch (status) {
    case 'success':
      return 'ok';
    case 'success_with_warnings':
      return 'warning';
    case 'failed':
      return 'error';
    case 'running':
      return 'running';
    case 'created':
    case 'pending':
    case 'preparing':
    case 'scheduled':
    case 'waiting_for_resource':
    case 'manual':
      return 'pending';
    default:
      return 'aborted';
  }
}

/** A colored status indicator followed by its text. */
export function StatusLabel(props: { tone: StatusTone; children: ReactNode }) {
  const Indicator = INDICATORS[props.tone];
  return (
    <span data-status-tone={props.tone}>
      <Indicator>{props.children}</Indicator>
    </span>
  );
}
