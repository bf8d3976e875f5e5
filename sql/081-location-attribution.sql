-- belair: where a station's measurements come from, and under which licence.
--
-- IRCEL-CELINE publishes its data under CC BY 4.0, and OpenAQ passes on the licence of each
-- provider: both ask that users be told whom to credit. A feed sends the licence and the credit
-- line with every measurement (MeasurementInput.licence and .attribution); the API shows them on
-- the station (Location.licence, Location.attribution). NULL: not sent (measurements from files
-- or the generator).

SET NAMES utf8mb4;

ALTER TABLE location
  ADD COLUMN IF NOT EXISTS licence      VARCHAR(128) NULL,   -- as the upstream names it: CC BY 4.0
  ADD COLUMN IF NOT EXISTS attribution  VARCHAR(255) NULL;   -- whom to credit, with a link
