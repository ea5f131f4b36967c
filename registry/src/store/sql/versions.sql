SELECT version FROM subject_versions WHERE subject = $1 ORDER BY version
