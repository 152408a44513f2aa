/**
 * The render layer's version. It lives in @internal/plugin-golden-path-common
 * because the entity page's status route compares a service's recorded
 * version with it too; bump it there (see its TSDoc for when).
 */
export { RENDER_VERSION } from '@internal/plugin-golden-path-common';
