-- belair: the write rate limit's budgets (WRITE_RATE_LIMIT, WRITE_RATE_BURST), kept on the primary
-- so that every API process of the service draws on the same budget: a token may write as much
-- through ten processes as through one. One row per token, a token bucket: `level` measurements may
-- be written as of `refilled_at_ms`, refilling at the rate up to the burst. src/db/write-budget.ts
-- takes from it in one statement (INSERT ... ON DUPLICATE KEY UPDATE ... RETURNING), which holds
-- the row's lock while it computes, so two processes taking at once take one after the other.
--
-- The key is the SHA-256 of the token, never the token itself, so that processes whose API_TOKENS
-- list the same token in another order (a rotation in progress) still share its budget.

CREATE TABLE IF NOT EXISTS write_budget (
  writer          BINARY(32) NOT NULL,  -- SHA-256 of the bearer token
  level           DOUBLE     NOT NULL,  -- measurements the token may write, as of refilled_at_ms
  refilled_at_ms  DOUBLE     NOT NULL,  -- when level was computed, by the primary's clock: ms since 1970, UTC
  granted         BOOLEAN    NOT NULL,  -- whether the last write it asked for passed
  PRIMARY KEY (writer)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
