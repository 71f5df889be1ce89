-- A duplicate delivery slot is a second ACTIVE slot with the same branch, day and start:
-- an inactive slot no longer blocks a new one at its time (issue 8, point 5). The index keeps
-- the constraint's name, so a violation still maps to DUPLICATE_SLOT.
ALTER TABLE delivery_slots DROP CONSTRAINT uq_delivery_slot;
CREATE UNIQUE INDEX uq_delivery_slot ON delivery_slots (branch_id, day_of_week, start_time)
    WHERE is_active;
