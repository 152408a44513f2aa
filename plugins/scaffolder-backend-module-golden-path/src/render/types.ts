/**
 * The render layer's inputs: platform settings (read once from config by
 * @internal/plugin-golden-path-node) and the developer's request (shared
 * with the frontend through @internal/plugin-golden-path-common).
 */
export type { PlatformSettings } from '@internal/plugin-golden-path-node';
export type { ServiceRequest } from '@internal/plugin-golden-path-common';
