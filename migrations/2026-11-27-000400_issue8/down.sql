DROP INDEX uq_delivery_slot;
ALTER TABLE delivery_slots
    ADD CONSTRAINT uq_delivery_slot UNIQUE (branch_id, day_of_week, start_time);
