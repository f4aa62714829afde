-- 1: one ordered key-value table holding every logical table of the domain. Keys compare
-- byte by byte (COLLATE "C"), so a scan returns them in the order SQLite does.
CREATE TABLE kv (
    tbl text COLLATE "C" NOT NULL,
    k   text COLLATE "C" NOT NULL,
    v   bytea NOT NULL,
    PRIMARY KEY (tbl, k)
);
