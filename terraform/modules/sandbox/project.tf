# The sandbox's own project: the third parties of dev, apart from the subsystems' ones, as
# real providers would be. Its APIs, the Cloud Build identity, the source archive and audit logs.

locals {
  labels = merge(var.labels, { system = "fooddelivery", subsystem = "sandbox", env = var.env })
  apis = toset([
    "artifactregistry.googleapis.com",
    "cloudbuild.googleapis.com",
    "cloudfunctions.googleapis.com",
    "iam.googleapis.com",
    "logging.googleapis.com",
    "run.googleapis.com",
    "secretmanager.googleapis.com", # the fakes read their keys from the subsystems' secrets
    "storage.googleapis.com",
  ])
  project_id = var.create_project ? google_project.this[0].project_id : var.project_id
}

resource "google_project" "this" {
  count = var.create_project ? 1 : 0

  project_id          = var.project_id
  name                = "fooddelivery sandbox ${var.env}"
  folder_id           = var.folder_id
  org_id              = var.folder_id == null ? var.org_id : null
  billing_account     = var.billing_account
  auto_create_network = false
  deletion_policy     = "DELETE" # fakes with state in memory: nothing to keep
  labels              = local.labels
}

resource "google_project_service" "api" {
  for_each = local.apis

  project            = local.project_id
  service            = each.value
  disable_on_destroy = false
}

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

# Cloud Build builds the fakes as this account, not as the default compute account.
resource "google_service_account" "builder" {
  project      = local.project_id
  account_id   = "function-builder"
  display_name = "function builder"
  description  = "Identity Cloud Build uses to build the sandbox's fakes."
  depends_on   = [google_project_service.api]
}

# Role => the only buckets it applies to (null: the whole project). Cloud Functions copies
# each source archive into its own gcf-v2-sources-<number>-<region> bucket (made at the first
# deploy, so no bucket grant can name it) and the build fetches it from there.
resource "google_project_iam_member" "builder" {
  for_each = {
    "roles/logging.logWriter"       = null
    "roles/artifactregistry.writer" = null
    "roles/storage.objectViewer"    = "gcf-v2-sources-"
  }

  project = local.project_id
  role    = each.key
  member  = google_service_account.builder.member

  dynamic "condition" {
    for_each = each.value == null ? [] : [each.value]
    content {
      title       = "function sources"
      description = "Only the buckets Cloud Functions copies the source archives into."
      expression  = "resource.name.startsWith(\"projects/_/buckets/${condition.value}\")"
    }
  }
}

resource "google_storage_bucket" "artifacts" {
  #checkov:skip=CKV_GCP_62:Data Access audit logs (google_project_iam_audit_config.all) record every read and write of the archive; a usage-log bucket would duplicate them.
  project  = local.project_id
  name     = "${local.project_id}-artifacts"
  location = var.region
  labels   = local.labels

  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = true # holds only the rebuildable archive

  versioning {
    enabled = true
  }

  lifecycle_rule {
    condition {
      age = 90
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.api]
}

resource "google_storage_bucket_iam_member" "builder" {
  bucket = google_storage_bucket.artifacts.name
  role   = "roles/storage.objectViewer"
  member = google_service_account.builder.member
}

resource "google_storage_bucket_object" "source" {
  bucket       = google_storage_bucket.artifacts.name
  name         = "sources/fakes-${filesha256(var.source_archive_path)}.zip"
  source       = var.source_archive_path
  content_type = "application/zip"
}
