"""Triggers that queue an order for the cockpit whenever the order, one of its lines or one of its
shipments is written, by whatever code path (pipeline, webhooks, imports, admin, raw SQL).
Statement-level with transition tables: one INSERT into bi_dirtyorder per statement, however
many rows it touched. They only append (no unique key, so no writer ever waits on the refresh);
the refresh task does the work later. The functions keep the search path they were created
with, so they write into their own seller's schema."""
from django.db import migrations

SQL = """
CREATE FUNCTION bi_orders_insert() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    INSERT INTO bi_dirtyorder (order_id) SELECT DISTINCT id FROM new_rows;
    RETURN NULL;
END $$;

CREATE FUNCTION bi_order_parts_insert() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    INSERT INTO bi_dirtyorder (order_id) SELECT DISTINCT order_id FROM new_rows;
    RETURN NULL;
END $$;

CREATE FUNCTION bi_orders_update() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    INSERT INTO bi_dirtyorder (order_id) SELECT DISTINCT id FROM new_rows;
    RETURN NULL;
END $$;

CREATE FUNCTION bi_order_parts_update() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    INSERT INTO bi_dirtyorder (order_id) SELECT order_id FROM new_rows UNION SELECT order_id FROM old_rows;
    RETURN NULL;
END $$;

CREATE FUNCTION bi_orders_delete() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    INSERT INTO bi_dirtyorder (order_id) SELECT DISTINCT id FROM old_rows;
    RETURN NULL;
END $$;

CREATE FUNCTION bi_order_parts_delete() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    INSERT INTO bi_dirtyorder (order_id) SELECT DISTINCT order_id FROM old_rows;
    RETURN NULL;
END $$;
CREATE TRIGGER bi_order_insert AFTER INSERT ON orders_order REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION bi_orders_insert();
CREATE TRIGGER bi_order_update AFTER UPDATE ON orders_order REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION bi_orders_update();
CREATE TRIGGER bi_order_delete AFTER DELETE ON orders_order REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION bi_orders_delete();
CREATE TRIGGER bi_line_insert AFTER INSERT ON orders_orderline REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION bi_order_parts_insert();
CREATE TRIGGER bi_line_update AFTER UPDATE ON orders_orderline REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION bi_order_parts_update();
CREATE TRIGGER bi_line_delete AFTER DELETE ON orders_orderline REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION bi_order_parts_delete();
CREATE TRIGGER bi_shipment_insert AFTER INSERT ON orders_shipment REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION bi_order_parts_insert();
CREATE TRIGGER bi_shipment_update AFTER UPDATE ON orders_shipment REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION bi_order_parts_update();
CREATE TRIGGER bi_shipment_delete AFTER DELETE ON orders_shipment REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION bi_order_parts_delete();
"""
REVERSE = """
DROP TRIGGER IF EXISTS bi_order_insert ON orders_order;
DROP TRIGGER IF EXISTS bi_order_update ON orders_order;
DROP TRIGGER IF EXISTS bi_order_delete ON orders_order;
DROP TRIGGER IF EXISTS bi_line_insert ON orders_orderline;
DROP TRIGGER IF EXISTS bi_line_update ON orders_orderline;
DROP TRIGGER IF EXISTS bi_line_delete ON orders_orderline;
DROP TRIGGER IF EXISTS bi_shipment_insert ON orders_shipment;
DROP TRIGGER IF EXISTS bi_shipment_update ON orders_shipment;
DROP TRIGGER IF EXISTS bi_shipment_delete ON orders_shipment;
DROP FUNCTION IF EXISTS bi_orders_insert(); DROP FUNCTION IF EXISTS bi_order_parts_insert();
DROP FUNCTION IF EXISTS bi_orders_update(); DROP FUNCTION IF EXISTS bi_order_parts_update();
DROP FUNCTION IF EXISTS bi_orders_delete(); DROP FUNCTION IF EXISTS bi_order_parts_delete();
"""


class Migration(migrations.Migration):
    dependencies = [("bi", "0001_facts_and_rollups"), ("orders", "0005_covering_indexes_for_creator_figures")]
    operations = [migrations.RunSQL(SQL, REVERSE)]
