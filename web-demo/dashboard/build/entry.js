// The only third-party code the dashboard loads: a web-mercator projection and path renderer, and
// the TopoJSON decoder for the bundled Natural Earth shapes.
export { geoMercator, geoPath } from "d3-geo";
export { feature, mesh } from "topojson-client";
