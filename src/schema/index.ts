import { builder } from './builder.js';
// One file per type, each with the root fields that return it; the order here is the order of
// the printed schema.
import './scalars.js';
import './enums.js';
import './measurement-input.js';
import './air-quality-run.js';
import './city-air-quality.js';
import './latest-measurement.js';
import './location.js';
import './city.js';
import './ingest-result.js';
import './air-quality-alert.js';
import './feed-progress.js';

// Unsorted: the printed schema reads in the order of the GraphQL contract (docs/architecture.md),
// not alphabetically.
export const schema = builder.toSchema({ sortSchema: false });
