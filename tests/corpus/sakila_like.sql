-- A rental-shop schema in the style of the MySQL sample databases (written
-- for ferry's corpus, not taken from one): AUTO_INCREMENT keys, ENUM and SET
-- with defaults, zero-date defaults as lax servers allow them, bit(1) flags,
-- timestamps maintained by ON UPDATE, an expression default, a spatial
-- column with an SRID and a SPATIAL index, a view, a trigger and a procedure,
-- and a table from the years before utf8mb4: latin1 by default (which MySQL
-- means as cp1252), with gbk and cp1250 columns.

-- Zero-date defaults need the lax mode old MySQL applications ran under.
SET SESSION sql_mode = '';

CREATE TABLE language (
  language_id tinyint unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name char(20) NOT NULL,
  last_update timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE film (
  film_id smallint unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY,
  title varchar(128) NOT NULL,
  description text,
  release_year year DEFAULT NULL,
  language_id tinyint unsigned NOT NULL,
  rental_rate decimal(4,2) NOT NULL DEFAULT 4.99,
  rating enum('G','PG','PG-13','R','NC-17') DEFAULT 'G',
  special_features set('Trailers','Commentaries','Deleted Scenes','Behind the Scenes') DEFAULT 'Trailers,Commentaries',
  last_update timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  KEY idx_title (title),
  CONSTRAINT fk_film_language FOREIGN KEY (language_id) REFERENCES language (language_id) ON UPDATE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE customer (
  customer_id smallint unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY,
  first_name varchar(45) NOT NULL,
  last_name varchar(45) NOT NULL,
  email varchar(50) DEFAULT NULL,
  active bit(1) NOT NULL DEFAULT b'0',
  create_date datetime NOT NULL DEFAULT '0000-00-00 00:00:00',
  birthday date NOT NULL DEFAULT '0000-00-00',
  token char(36) NOT NULL DEFAULT (uuid()),
  lifetime_cents bigint unsigned DEFAULT NULL,
  last_update timestamp NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- MySQL 8 would write `location point NOT NULL SRID 4326`; MariaDB keeps
-- the column SRID as REF_SYSTEM_ID.
CREATE TABLE address (
  address_id smallint unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY,
  address varchar(50) NOT NULL,
  district varchar(20) NOT NULL,
  location point REF_SYSTEM_ID=4326 NOT NULL,
  last_update timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  SPATIAL KEY idx_location (location)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE payment (
  payment_id int unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY,
  customer_id smallint unsigned NOT NULL,
  amount decimal(5,2) NOT NULL,
  payment_date datetime(6) NOT NULL,
  CONSTRAINT fk_payment_customer FOREIGN KEY (customer_id) REFERENCES customer (customer_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE store (
  store_id tinyint unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name varchar(40) NOT NULL,
  city varchar(40) CHARACTER SET gbk DEFAULT NULL,
  manager varchar(40) CHARACTER SET cp1250 COLLATE cp1250_general_ci DEFAULT NULL,
  code char(3) CHARACTER SET ascii NOT NULL DEFAULT 'XXX',
  KEY idx_name (name)
) ENGINE=InnoDB DEFAULT CHARSET=latin1;

CREATE VIEW customer_list AS
  SELECT customer_id AS id, CONCAT(first_name, ' ', last_name) AS name, email FROM customer;

CREATE TRIGGER customer_create_date BEFORE INSERT ON customer
  FOR EACH ROW SET NEW.create_date = IF(NEW.create_date = '0000-00-00 00:00:00', NOW(), NEW.create_date);

CREATE PROCEDURE film_count(IN p_language tinyint unsigned, OUT p_count int)
BEGIN
  SELECT COUNT(*) INTO p_count FROM film WHERE language_id = p_language;
END;

INSERT INTO language (name, last_update) VALUES
  ('English', '2020-01-01 00:00:00'), ('Français', '2020-01-01 00:00:00'), ('日本語', '2020-01-01 00:00:00');
INSERT INTO film (title, description, release_year, language_id, rating, special_features, last_update) VALUES
  ('ACADEMY DINOSAUR', 'An epic drama', 2006, 1, 'PG', 'Deleted Scenes,Behind the Scenes', '2020-01-03 00:00:00.125'),
  ('ACE GOLDFINGER', '', 2155, 2, 'G', '', '2020-01-03 00:00:00'),
  ('ÜBER ÄRGER', NULL, NULL, 3, NULL, NULL, '2020-01-03 00:00:00');
INSERT INTO customer (first_name, last_name, email, active, create_date, birthday, token, lifetime_cents, last_update) VALUES
  ('MARY', 'SMITH', 'mary@example.com', b'1', '2020-02-14 08:00:00', '1980-01-01', '3f0c8a5e-0000-4000-8000-000000000001', 18446744073709551615, '2020-02-14 08:00:00'),
  ('ŁUKASZ', 'NOWAK', '', b'0', '2020-02-15 08:00:00', '1999-12-31', '3f0c8a5e-0000-4000-8000-000000000002', 0, NULL),
  ('ANA', 'NÚÑEZ', NULL, b'1', '2020-02-16 08:00:00', '2000-02-29', '3f0c8a5e-0000-4000-8000-000000000003', NULL, '2020-02-16 08:00:00');
INSERT INTO address (address, district, location, last_update) VALUES
  ('47 MySakila Drive', 'Alberta', ST_GeomFromText('POINT(-112.8185647 49.6999986)', 4326), '2020-01-04 00:00:00'),
  ('28 MySQL Boulevard', 'QLD', ST_GeomFromText('POINT(153.0251 -27.4698)', 4326), '2020-01-04 00:00:00'),
  ('23 Workhaven Lane', 'Alberta', ST_GeomFromText('POINT(0 0)', 4326), '2020-01-04 00:00:00');
INSERT INTO store (name, city, manager, code) VALUES
  ('Café “Zoë” €5', '北京', 'Łódź Żółć', 'CAF'),
  ('Ærøskøbing', '上海浦东', 'Šťastný', 'AER'),
  ('plain', NULL, NULL, 'PLN');
INSERT INTO payment (customer_id, amount, payment_date) VALUES
  (1, 2.99, '2022-01-15 12:00:00'), (2, 0.99, '2022-01-31 23:59:59.999999'), (1, 999.99, '2022-02-01 00:00:00');
