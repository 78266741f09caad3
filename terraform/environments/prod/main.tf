# The prod environment: every subsystem, each in its own project, protected from
# deletion, with BFFs that accept only Identity Platform ID tokens.

module "system" {
  source = "../../modules/system"

  env                 = "prod"
  subsystems          = var.subsystems
  envelope_schema     = var.envelope_schema
  project_ids         = var.project_ids
  create_projects     = var.create_projects
  folder_id           = var.folder_id
  org_id              = var.org_id
  billing_account     = var.billing_account
  region              = var.region
  firestore_location  = var.firestore_location
  deletion_protection = true
  settings            = var.settings
  secret_settings     = var.secret_settings
  url_settings        = var.url_settings
  auth                = { mode = "identity-platform", identity_project = var.identity_project, identity_tenant = var.identity_tenant }
  archive_dir         = var.archive_dir
  max_instances       = var.max_instances
  lake_retention_days = var.lake_retention_days
  attach_members      = var.attach_members
}
