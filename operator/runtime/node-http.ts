// Node's http module without an ES module import. `import … from 'node:http'` makes Node build
// the module's namespace, which reads every export, among them the lazy `WebSocket`,
// `CloseEvent` and `MessageEvent` getters: that loads Node's bundled undici and web streams,
// which the operator never uses (measured: the operator's bundle starts with 2.8 MiB less
// resident memory without them). process.getBuiltinModule returns the same module object and
// reads none of them.
export const nodeHttp = process.getBuiltinModule('node:http');
