SELECT DISTINCT subject FROM subject_versions ORDER BY subject
