// PostGraphile 5 serving the bench database (`make bench` starts it; see bench/servers.py).
import { PgSimplifyInflectionPreset } from "@graphile/simplify-inflection";
import { makePgService } from "postgraphile/adaptors/pg";
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";

/** @type {GraphileConfig.Preset} */
const preset = {
  extends: [PostGraphileAmberPreset, PgSimplifyInflectionPreset],
  // Let the query filter on unassigned_at and order certificates as lms-graph does
  // (by default only indexed columns are offered for conditions and orderBy).
  disablePlugins: ["PgIndexBehaviorsPlugin"],
  pgServices: [
    makePgService({
      connectionString:
        process.env.BENCH_PG_URL ?? "postgres://postgres@127.0.0.1:5432/lms_bench",
      schemas: ["public"],
    }),
  ],
  grafserv: {
    port: Number(process.env.BENCH_PG_PORT ?? 5678),
    host: "127.0.0.1",
    graphiql: false,
    watch: false,
  },
  grafast: { explain: false },
};

export default preset;
