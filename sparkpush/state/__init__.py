"""What sparkpush keeps on disk: user and project state folders, user-only files written
atomically, records, locks. Imports nothing of sparkpush's but its errors."""
