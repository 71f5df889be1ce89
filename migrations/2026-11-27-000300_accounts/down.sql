DROP TABLE mail_outbox;
DROP TYPE mail_status;
DROP TYPE mail_template;
