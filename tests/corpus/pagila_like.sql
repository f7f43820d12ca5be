-- A rental-shop schema in the style of the PostgreSQL sample databases
-- (written for ferry's corpus, not taken from one): the objects and default
-- forms real PostgreSQL applications have, each on purpose.

-- PostGIS, as a store locator would use it (the corpus creates it in every
-- PostgreSQL database of this journey).
CREATE EXTENSION IF NOT EXISTS postgis;

CREATE TYPE mpaa_rating AS ENUM ('G', 'PG', 'PG-13', 'R', 'NC-17');
CREATE DOMAIN year AS integer CONSTRAINT year_check CHECK (VALUE >= 1901 AND VALUE <= 2155);

-- A sequence no column owns, shared by two tables' keys.
CREATE SEQUENCE person_id_seq START 100;

CREATE TABLE language (
  language_id serial PRIMARY KEY,
  name character(20) NOT NULL,
  last_update timestamp without time zone NOT NULL DEFAULT now()
);

CREATE TABLE actor (
  actor_id integer PRIMARY KEY DEFAULT nextval('person_id_seq'::regclass),
  first_name character varying(45) NOT NULL,
  last_name character varying(45) NOT NULL,
  nickname character varying(45) NOT NULL DEFAULT ''::character varying,
  last_update timestamp without time zone NOT NULL DEFAULT 'now'::timestamp
);

CREATE TABLE staff (
  staff_id integer PRIMARY KEY DEFAULT nextval('person_id_seq'::regclass),
  username character varying(16) NOT NULL UNIQUE,
  hired date NOT NULL DEFAULT 'today'::date,
  opens time without time zone DEFAULT CURRENT_TIME,
  seen timestamp without time zone DEFAULT LOCALTIMESTAMP,
  probed timestamp with time zone DEFAULT clock_timestamp()
);

CREATE TABLE film (
  film_id serial PRIMARY KEY,
  title text NOT NULL,
  description text,
  release_year year,
  language_id integer NOT NULL REFERENCES language (language_id) ON UPDATE CASCADE,
  rental_duration smallint NOT NULL DEFAULT 3,
  rental_rate numeric(4,2) NOT NULL DEFAULT 4.99,
  replacement_cost numeric(5,2) NOT NULL DEFAULT 19.99,
  rating mpaa_rating DEFAULT 'G'::mpaa_rating,
  special_features text[] NOT NULL DEFAULT '{}'::text[],
  last_update timestamp without time zone NOT NULL DEFAULT now()
);
CREATE INDEX film_title_idx ON film (title);

CREATE TABLE customer (
  customer_id serial PRIMARY KEY,
  first_name character varying(45) NOT NULL,
  last_name character varying(45) NOT NULL,
  email character varying(50),
  activebool boolean NOT NULL DEFAULT true,
  create_date date NOT NULL DEFAULT ('now'::text)::date,
  balance numeric NOT NULL DEFAULT (0)::numeric,
  lifetime_cents bigint,
  last_update timestamp without time zone DEFAULT now()
);

-- Spatial columns: a typed point with an SRID, and an untyped geometry
-- holding whatever shape (and SRID) each row has.
CREATE TABLE address (
  address_id serial PRIMARY KEY,
  address character varying(50) NOT NULL,
  location geometry(Point, 4326) NOT NULL,
  service_area geometry,
  last_update timestamp without time zone NOT NULL DEFAULT now()
);

-- Declarative partitions: the rows live in the partitions only.
CREATE TABLE payment (
  payment_id serial,
  customer_id integer NOT NULL,
  amount numeric(5,2) NOT NULL,
  payment_date timestamp with time zone NOT NULL,
  PRIMARY KEY (payment_date, payment_id)
) PARTITION BY RANGE (payment_date);
CREATE TABLE payment_p2022_01 PARTITION OF payment
  FOR VALUES FROM ('2022-01-01 00:00:00+00') TO ('2022-02-01 00:00:00+00');
CREATE TABLE payment_p2022_02 PARTITION OF payment
  FOR VALUES FROM ('2022-02-01 00:00:00+00') TO ('2022-03-01 00:00:00+00');

-- Table inheritance: a child's rows also show through its parent.
CREATE TABLE rental (
  rental_id serial PRIMARY KEY,
  rented_at timestamp with time zone NOT NULL,
  film_id integer NOT NULL,
  customer_id integer NOT NULL
);
CREATE TABLE rental_archive (
  archived_at timestamp with time zone NOT NULL DEFAULT now(),
  PRIMARY KEY (rental_id)
) INHERITS (rental);

CREATE VIEW actor_names AS
  SELECT actor_id, first_name || ' ' || last_name AS full_name FROM actor;
CREATE MATERIALIZED VIEW films_by_rating AS
  SELECT rating, count(*) AS film_count FROM film GROUP BY rating;

CREATE FUNCTION touch_last_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.last_update := now();
  RETURN NEW;
END
$$;
CREATE TRIGGER film_touch BEFORE UPDATE ON film
  FOR EACH ROW EXECUTE FUNCTION touch_last_update();

INSERT INTO language (name, last_update) VALUES
  ('English', '2020-01-01 00:00:00'), ('Français', '2020-01-01 00:00:00'), ('日本語', '2020-01-01 00:00:00');
INSERT INTO actor (first_name, last_name, nickname, last_update) VALUES
  ('Penélope', 'Guiness', '', '2020-01-02 10:00:00'),
  ('Zoë', 'Ødegård', 'Z', '2020-01-02 10:00:00'),
  ('Nick', 'Wahlberg', '', '2020-01-02 10:00:00');
INSERT INTO staff (username, hired, opens, seen, probed) VALUES
  ('mike', '2019-05-01', '09:00', '2020-01-01 00:00:00', '2020-01-01 00:00:00+00'),
  ('jon', '2019-06-01', NULL, NULL, NULL);
INSERT INTO film (title, description, release_year, language_id, rating, special_features, last_update) VALUES
  ('Academy Dinosaur', 'An epic drama', 2006, 1, 'PG', '{Deleted Scenes,Behind the Scenes}', '2020-01-03 00:00:00'),
  ('Ace Goldfinger', '', 2155, 2, 'G', '{}', '2020-01-03 00:00:00'),
  ('Über Ärger', NULL, NULL, 3, NULL, '{Trailers}', '2020-01-03 00:00:00');
INSERT INTO customer (first_name, last_name, email, activebool, create_date, balance, lifetime_cents, last_update) VALUES
  ('Mary', 'Smith', 'mary@example.com', true, '2020-02-14', 12345678901234567890.123456789, 9223372036854775807, '2020-02-14 08:00:00'),
  ('Łukasz', 'Nowak', '', false, '2020-02-15', -0.5, -9223372036854775808, NULL),
  ('Ana', 'Núñez', NULL, true, '2020-02-16', 0, NULL, '2020-02-16 08:00:00');
INSERT INTO address (address, location, service_area, last_update) VALUES
  ('47 MySakila Drive', 'SRID=4326;POINT(-112.8185647 49.6999986)',
   'SRID=4326;POLYGON((-113 49.5, -112.5 49.5, -112.5 50, -113 50, -113 49.5))', '2020-01-04 00:00:00'),
  ('28 MySQL Boulevard', 'SRID=4326;POINT(-112.8185673 49.6999951)',
   'SRID=3857;MULTIPOINT((1 2), (3 4))', '2020-01-04 00:00:00'),
  ('23 Workhaven Lane', 'SRID=4326;POINT(0 0)', NULL, '2020-01-04 00:00:00');
INSERT INTO payment (customer_id, amount, payment_date) VALUES
  (1, 2.99, '2022-01-15 12:00:00+00'), (2, 0.99, '2022-01-31 23:59:59.999999+00'),
  (1, 999.99, '2022-02-01 00:00:00+00');
INSERT INTO rental (rented_at, film_id, customer_id) VALUES
  ('2022-01-10 10:00:00+00', 1, 1), ('2022-01-11 10:00:00+00', 2, 2);
INSERT INTO rental_archive (rented_at, film_id, customer_id, archived_at) VALUES
  ('2021-12-01 10:00:00+00', 3, 3, '2022-01-01 00:00:00+00');
REFRESH MATERIALIZED VIEW films_by_rating;
