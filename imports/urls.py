from django.urls import path

from .views import corrections, downloads, history, undo, wizard

app_name = "imports"
urlpatterns = [
    path("", history.history, name="history"),
    path("new/", wizard.start, name="start"),
    path("sample.csv", downloads.sample_csv, name="sample_csv"),
    path("<int:number>/", history.detail, name="detail"),
    path("<int:number>/progress/", history.progress, name="progress"),
    path("<int:number>/cancel/", history.cancel, name="cancel"),
    path("<int:number>/close/", wizard.close, name="close"),
    path("<int:number>/approve/", history.approve, name="approve"),
    path("<int:number>/discard/", history.discard, name="discard"),
    path("<int:number>/undo/", undo.undo, name="undo"),
    path("<int:number>/fields/", wizard.map_fields, name="fields"),
    path("<int:number>/schools/", wizard.map_schools, name="schools"),
    path("<int:number>/values/", wizard.map_values, name="values"),
    path("<int:number>/validate/", wizard.validate, name="validate"),
    path("<int:number>/validate/fix/", corrections.fix_rows, name="fix_rows"),
    path("<int:number>/validate/progress/", wizard.validation_progress, name="validation_progress"),
    path("<int:number>/actions/", wizard.actions, name="actions"),
    path("<int:number>/review/", wizard.review, name="review"),
    path("<int:number>/files/<int:file_id>/", downloads.original_file, name="original_file"),
    path("<int:number>/errors.csv", downloads.error_report, name="error_report"),
    path("<int:number>/results.csv", downloads.results_report, name="results_report"),
]
