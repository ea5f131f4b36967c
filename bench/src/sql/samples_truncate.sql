TRUNCATE samples
