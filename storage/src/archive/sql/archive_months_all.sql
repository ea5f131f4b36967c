-- Every archived partition.
SELECT relation, sample_type, month FROM archive_months ORDER BY month, relation, sample_type
