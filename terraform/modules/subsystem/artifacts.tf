# The function source archive, uploaded under its content hash so a changed archive
# redeploys the functions and an unchanged one changes nothing.

resource "google_storage_bucket" "artifacts" {
  #checkov:skip=CKV_GCP_62:Data Access audit logs (audit.tf) record every read and write of the archives; a usage-log bucket would duplicate them.
  project  = local.project_id
  name     = "${local.project_id}-artifacts"
  location = var.region
  labels   = local.labels

  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = true # holds only rebuildable archives

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
  name         = "sources/${var.name}-${filesha256(var.source_archive_path)}.zip"
  source       = var.source_archive_path
  content_type = "application/zip"
}
