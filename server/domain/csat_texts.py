"""What customers read in CSAT surveys, per language (docs/csat.md).

English, Polish and Greek; a new language is one more entry with the same keys
(tests/csat check every language has every key).
"""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "question": "How would you rate our help with this conversation?",
        "message": "{question} One click is enough: {link}",
        "title": "Rate our help",
        "comment": "Anything you would like to add? (optional)",
        "send": "Send",
        "thanks": "Thank you! Your rating was saved. You can change it until {until}.",
        "closed": "This survey has closed. Thank you!",
        "unknown": "This link is not valid. It may have been copied incompletely.",
        "pick": "Please choose a rating from 1 to 5.",
        "too_long": "The comment is too long: at most 2000 characters.",
        "1": "Very poor",
        "2": "Poor",
        "3": "Okay",
        "4": "Good",
        "5": "Excellent",
    },
    "pl": {
        "question": "Jak oceniasz naszą pomoc w tej rozmowie?",
        "message": "{question} Wystarczy jedno kliknięcie: {link}",
        "title": "Oceń naszą pomoc",
        "comment": "Czy chcesz coś dodać? (opcjonalnie)",
        "send": "Wyślij",
        "thanks": "Dziękujemy! Ocena została zapisana. Możesz ją zmienić do {until}.",
        "closed": "Ta ankieta jest już zamknięta. Dziękujemy!",
        "unknown": "Ten link jest nieprawidłowy. Być może został skopiowany niecały.",
        "pick": "Wybierz ocenę od 1 do 5.",
        "too_long": "Komentarz jest za długi: najwyżej 2000 znaków.",
        "1": "Bardzo źle",
        "2": "Źle",
        "3": "Przeciętnie",
        "4": "Dobrze",
        "5": "Świetnie",
    },
    "el": {
        "question": "Πώς θα αξιολογούσατε τη βοήθειά μας σε αυτή τη συζήτηση;",
        "message": "{question} Αρκεί ένα κλικ: {link}",
        "title": "Αξιολογήστε τη βοήθειά μας",
        "comment": "Θέλετε να προσθέσετε κάτι; (προαιρετικό)",
        "send": "Αποστολή",
        "thanks": "Ευχαριστούμε! Η αξιολόγησή σας αποθηκεύτηκε. "
        "Μπορείτε να την αλλάξετε έως {until}.",
        "closed": "Αυτή η έρευνα έχει κλείσει. Ευχαριστούμε!",
        "unknown": "Αυτός ο σύνδεσμος δεν είναι έγκυρος. Ίσως αντιγράφηκε ελλιπώς.",
        "pick": "Επιλέξτε μια βαθμολογία από 1 έως 5.",
        "too_long": "Το σχόλιο είναι πολύ μεγάλο: έως 2000 χαρακτήρες.",
        "1": "Πολύ κακή",
        "2": "Κακή",
        "3": "Μέτρια",
        "4": "Καλή",
        "5": "Εξαιρετική",
    },
}
