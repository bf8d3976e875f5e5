/** Belgium's outline, a GeoJSON feature picked from Natural Earth by the build (world-atlas). */
declare module 'belgium-outline' {
  const outline: import('geojson').Feature<
    import('geojson').Polygon | import('geojson').MultiPolygon
  >;
  export default outline;
}
