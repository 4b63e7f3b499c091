-- ETA history rows belong to either a PO line or a backorder: index only the rows that have one,
-- so writing 100,000 backorder promises does not also write 100,000 empty PO-line index entries.
DROP INDEX eta_history_backorder;
DROP INDEX eta_history_po_line;
CREATE INDEX eta_history_backorder ON eta_history (backorder_id) WHERE backorder_id IS NOT NULL;
CREATE INDEX eta_history_po_line ON eta_history (po_line_id) WHERE po_line_id IS NOT NULL;
