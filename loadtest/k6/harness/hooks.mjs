// hooks.mjs: the module resolution a k6 script gets. The k6 modules the
// harness stands in for resolve to ./k6/*.mjs; any other bare specifier
// (Node built-ins, npm packages, k6 modules the harness lacks) and remote
// URLs fail, as they would in k6 or because the harness cannot honour
// them. The harness's own
// files resolve normally.
const HERE = new URL('./', import.meta.url).href;

const MODULES = {
  k6: 'index.mjs',
  'k6/http': 'http.mjs',
  'k6/metrics': 'metrics.mjs',
  'k6/data': 'data.mjs',
  'k6/crypto': 'crypto.mjs',
  'k6/websockets': 'websockets.mjs',
  'k6/experimental/websockets': 'experimental-websockets.mjs',
  'k6/execution': 'execution.mjs',
  'k6/timers': 'timers.mjs',
};

export async function resolve(specifier, context, next) {
  if (MODULES[specifier]) return { url: new URL(`./k6/${MODULES[specifier]}`, import.meta.url).href, shortCircuit: true };
  // The harness's own modules are the .mjs files here; scripts are .js.
  const fromScript = context.parentURL && !(context.parentURL.startsWith(HERE) && context.parentURL.endsWith('.mjs'));
  if (fromScript) {
    if (/^https?:/.test(specifier)) {
      throw new Error(`harness: remote module ${specifier} is not loaded (k6 would fetch it; vendor it next to the script)`);
    }
    if (!/^(\.{0,2}\/|file:)/.test(specifier)) {
      throw new Error(`unknown module: ${specifier}`);
    }
  }
  return next(specifier, context);
}
