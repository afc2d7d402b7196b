// Structural check of the OpenSearch Dashboards / Kibana saved objects (no Dashboards server runs
// here): every line is an object with id/type/attributes/references, embedded JSON strings parse,
// every aggregation field is a field the core's index template maps with a type that supports it,
// and every reference points at an object in the file.
//
//   node validate.mjs sentimap.ndjson
import { readFileSync } from "node:fs";
import assert from "node:assert/strict";

const FIELDS = {
  created_at: "date",
  "sentiment.label": "keyword",
  "sentiment.compound": "float",
  "location.point": "geo_point",
  hashtags_folded: "keyword",
};
const AGG_TYPES = {
  avg: ["float"],
  count: [],
  terms: ["keyword"],
  date_histogram: ["date"],
  geohash_grid: ["geo_point"],
  geotile_grid: ["geo_point"],
};

const file = process.argv[2];
const lines = readFileSync(file, "utf8").split("\n").filter((l) => l.trim());
const objects = lines.map((l, i) => {
  try {
    return JSON.parse(l);
  } catch (e) {
    throw new Error(`line ${i + 1}: not JSON: ${e.message}`);
  }
});
const ids = new Set(objects.map((o) => `${o.type}:${o.id}`));
assert.equal(ids.size, objects.length, "ids are unique per type");
const types = objects.map((o) => o.type);
for (const t of ["index-pattern", "visualization", "dashboard"]) assert.ok(types.includes(t), `has a ${t}`);

for (const o of objects) {
  const where = `${o.type} ${o.id}`;
  for (const k of ["id", "type", "attributes", "references"]) assert.ok(k in o, `${where}: ${k}`);
  for (const r of o.references) assert.ok(ids.has(`${r.type}:${r.id}`), `${where}: reference ${r.type}:${r.id} is in the file`);
  const a = o.attributes;
  if (o.type === "index-pattern") {
    assert.equal(a.timeFieldName, "created_at", `${where}: time field`);
    assert.match(a.title, /\*$/, `${where}: a pattern`);
  }
  if (o.type === "visualization" || o.type === "dashboard") {
    const ss = JSON.parse(a.kibanaSavedObjectMeta.searchSourceJSON);
    if (ss.indexRefName) assert.ok(o.references.some((r) => r.name === ss.indexRefName), `${where}: indexRefName`);
  }
  if (o.type === "visualization") {
    const vs = JSON.parse(a.visState);
    assert.equal(vs.title, a.title, `${where}: visState title`);
    JSON.parse(a.uiStateJSON);
    for (const agg of vs.aggs) {
      assert.ok(agg.type in AGG_TYPES, `${where}: known aggregation ${agg.type}`);
      const want = AGG_TYPES[agg.type];
      if (want.length) {
        const t = FIELDS[agg.params.field];
        assert.ok(t, `${where}: field ${agg.params.field} is mapped by the core's template`);
        assert.ok(want.includes(t), `${where}: ${agg.type} on a ${t} field`);
      }
    }
  }
  if (o.type === "dashboard") {
    const panels = JSON.parse(a.panelsJSON);
    JSON.parse(a.optionsJSON);
    assert.ok(panels.length >= 3, `${where}: panels`);
    for (const p of panels) assert.ok(o.references.some((r) => r.name === p.panelRefName), `${where}: ${p.panelRefName}`);
  }
}
console.log(`${file}: ${objects.length} saved objects valid`);
