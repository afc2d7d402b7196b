// Builds ../www/vendor/: run `npm ci && npm run build` here after changing a version in
// package.json, and commit the output (the Rust build embeds it and needs no npm).
import { build } from "esbuild";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "www", "vendor");
mkdirSync(out, { recursive: true });

await build({
  entryPoints: [join(here, "entry.js")],
  bundle: true,
  format: "esm",
  minify: true,
  legalComments: "none",
  target: "es2020",
  outfile: join(out, "geo.js"),
});

// 1:110m Natural Earth countries (public domain), as TopoJSON from world-atlas.
copyFileSync(join(here, "node_modules", "world-atlas", "countries-110m.json"), join(out, "countries-110m.json"));

const licences = ["d3-geo", "d3-array", "internmap", "topojson-client", "world-atlas"]
  .map((p) => {
    const pkg = JSON.parse(readFileSync(join(here, "node_modules", p, "package.json"), "utf8"));
    const text = readFileSync(join(here, "node_modules", p, "LICENSE"), "utf8");
    return `== ${p} ${pkg.version} (${pkg.license})\n\n${text.trim()}\n`;
  })
  .join("\n");
writeFileSync(
  join(out, "LICENSES.txt"),
  `Third-party code and data bundled in geo.js and countries-110m.json.\n` +
    `Shapes: Natural Earth (public domain) via world-atlas.\n\n${licences}`,
);
