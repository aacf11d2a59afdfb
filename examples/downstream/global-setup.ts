export { default } from "postgres-pgbackrest/global-setup";
