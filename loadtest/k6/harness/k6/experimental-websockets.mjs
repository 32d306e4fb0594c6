// `k6/experimental/websockets`: deprecated since the module graduated to
// k6/websockets (k6 still loads it, with a warning); the same stand-in.
console.warn('k6/experimental/websockets is deprecated: import k6/websockets instead');
export * from './websockets.mjs';
export { default } from './websockets.mjs';
