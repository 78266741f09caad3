# Who read or changed what, in every service of the project (Cloud Audit Logs).

resource "google_project_iam_audit_config" "all" {
  project = local.project_id
  service = "allServices"

  audit_log_config {
    log_type = "ADMIN_READ"
  }

  audit_log_config {
    log_type = "DATA_READ"
  }

  audit_log_config {
    log_type = "DATA_WRITE"
  }
}
