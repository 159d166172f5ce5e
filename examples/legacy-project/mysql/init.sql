-- Schema and the exporter's account for the example shop database.
CREATE TABLE IF NOT EXISTS products (
  id BIGINT AUTO_INCREMENT PRIMARY KEY,
  sku VARCHAR(64) NOT NULL UNIQUE,
  name VARCHAR(255) NOT NULL,
  price_cents INT NOT NULL
);
INSERT IGNORE INTO products (sku, name, price_cents) VALUES
  ('TEE-001', 'T-shirt', 1990),
  ('MUG-001', 'Mug', 1290);
CREATE USER IF NOT EXISTS 'exporter'@'%' IDENTIFIED BY 'example-exporter-pw' WITH MAX_USER_CONNECTIONS 3;
GRANT PROCESS, REPLICATION CLIENT, SELECT ON *.* TO 'exporter'@'%';
