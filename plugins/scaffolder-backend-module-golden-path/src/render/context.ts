import { DerivedNames, deriveNames } from './derive';
import {
  ResolvedServiceRequest,
  ServiceRequestInput,
  resolveServiceRequest,
} from './input';
import { commonLabels } from './labels';
import { PlatformSettings } from './types';

/**
 * Minimal shape shared by every generated Kubernetes object, for code that
 * handles them generically (file layout, serialisation, validation).
 */
export interface KubernetesObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    finalizers?: string[];
  };
}

/** Everything a per-object render function needs, validated once. */
export interface RenderContext {
  settings: PlatformSettings;
  request: ResolvedServiceRequest;
  names: DerivedNames;
  labels: Record<string, string>;
}

/**
 * Validates the request (InputError on bad input) and derives names and
 * labels. Every exported render function goes through here, so none of them
 * can be called with an invalid name.
 */
export function renderContext(
  settings: PlatformSettings,
  request: ServiceRequestInput,
): RenderContext {
  const resolved = resolveServiceRequest(settings, request);
  return {
    settings,
    request: resolved,
    names: deriveNames(settings, resolved.name),
    labels: commonLabels(resolved.name, resolved.owner),
  };
}
