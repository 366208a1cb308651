-- Reads a database another run created: the schema and a digest of its rows.
.headers on
.mode list
.tables
.schema item
SELECT count(*), sum(qty), printf('%.2f', sum(price)) FROM item;
SELECT label, n FROM stock ORDER BY n DESC, label;
PRAGMA integrity_check;
