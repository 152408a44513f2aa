import { DerivedNames, deriveNames } from './derive';
import { ServiceInput, resolveServiceRequest } from './input';
import { commonLabels } from './labels';
import { RuntimeProfile, resolveRuntime } from './runtime';
import { PlatformSettings, ServiceRequest } from './types';

export type { KubernetesObject } from '@internal/plugin-golden-path-node';

/** Everything a per-object render function needs, validated once. */
export interface RenderContext {
  settings: PlatformSettings;
  request: ServiceRequest;
  names: DerivedNames;
  labels: Record<string, string>;
  /** What the template declares about its runtime (probes, resources, env). */
  runtime: RuntimeProfile;
}

/**
 * Validates the request (InputError on bad input) and derives names and
 * labels. Every exported render function goes through here, so none of them
 * can be called with an invalid name.
 */
export function renderContext(
  settings: PlatformSettings,
  input: ServiceInput,
): RenderContext {
  const resolved = resolveServiceRequest(settings, input);
  return {
    settings,
    request: resolved,
    names: deriveNames(settings, resolved.name),
    // The platform's own labels win over the configured extra ones.
    labels: {
      ...settings.extraLabels,
      ...commonLabels(resolved.name, resolved.owner),
    },
    runtime: resolveRuntime(input.runtime),
  };
}
