"""Background jobs on huey: SqliteHuey by default, RedisHuey when JASPING_REDIS_URL is set."""
