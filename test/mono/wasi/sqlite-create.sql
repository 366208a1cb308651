-- Creates a database in the working directory: a schema, a transaction,
-- a recursive insert, an index and a view, then queries in several modes.
.headers on
.mode list
CREATE TABLE item(id INTEGER PRIMARY KEY, name TEXT NOT NULL, qty INTEGER, price REAL);
CREATE TABLE tag(item INTEGER REFERENCES item(id), label TEXT);
BEGIN;
INSERT INTO item(name, qty, price) VALUES ('anvil', 3, 129.5), ('bolt', 1000, 0.05), ('crank', 12, 7.25);
WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 2000)
  INSERT INTO item(name, qty, price) SELECT 'part-' || printf('%04d', x), x % 17, round(x * 0.37, 2) FROM n;
INSERT INTO tag SELECT id, CASE id % 3 WHEN 0 THEN 'red' WHEN 1 THEN 'green' ELSE 'blue' END FROM item;
COMMIT;
CREATE INDEX item_name ON item(name);
CREATE VIEW stock AS SELECT label, count(*) AS n, sum(qty * price) AS value FROM item JOIN tag ON tag.item = item.id GROUP BY label;
SELECT count(*), sum(qty), printf('%.2f', sum(price)), min(name), max(name) FROM item;
SELECT * FROM item WHERE name IN ('anvil', 'crank') ORDER BY id;
.mode box
SELECT label, n, printf('%.2f', value) AS value FROM stock ORDER BY label;
.mode csv
SELECT id, name, qty FROM item WHERE id % 400 = 0;
.mode json
SELECT name, length(name) AS len, upper(substr(name, 1, 1)) AS initial FROM item WHERE id BETWEEN 1000 AND 1002;
.mode line
SELECT sqlite_version() IS NOT NULL AS has_version, total_changes() AS changes;
BEGIN;
DELETE FROM item WHERE qty = 0;
ROLLBACK;
UPDATE item SET qty = qty + 1 WHERE name LIKE 'part-19%';
SELECT count(*) AS zero_qty FROM item WHERE qty = 0;
PRAGMA integrity_check;
