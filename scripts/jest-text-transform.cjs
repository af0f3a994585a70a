// Jest transform for the shell scripts and config templates constructs import as text
// (constructs/text-files.d.ts): the module's default export is the file's content, exactly as
// esbuild's `text` loader makes it in the bundles (scripts/bundle.mjs).
module.exports = {
  process(source) {
    return { code: `module.exports = ${JSON.stringify(source)};\n` };
  },
};
