-- id: rejected.{table}
-- for_each: landing
-- severity: error
-- description: records of {table}'s files that did not fit its declared columns (malformed JSON, a missing required field, a value of the wrong type); they were not loaded
SELECT source_file, line, reason, raw_record
FROM {table}_rejected
ORDER BY source_file, line
