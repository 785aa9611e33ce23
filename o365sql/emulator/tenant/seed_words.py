"""Word pools for the seeded demo tenant (emulator data stage).

Plain data that the seed modules draw from with their own ``random.Random``. Subjects and names
deliberately mix case, quotes ('), accents, CJK and emoji so that quoting and encoding bugs in a
client show up against the emulator.
"""

from __future__ import annotations

# The first six pairs are the default tenant's users: one has an apostrophe in the surname
# (and so in the userPrincipalName), one has non-ASCII names.
FIRST_NAMES = [
    "Adele", "Alex", "Zoë", "Diego", "Søren", "Megan", "Grady", "Henrietta", "Isaiah", "Johanna",
    "Lee", "Lidia", "Lynne", "Miriam", "Nestor", "Patti", "Pradeep", "Chloé", "Jürgen", "Yuki",
]
LAST_NAMES = [
    "Vance", "Wilber", "O'Neil", "Siciliani", "Åberg", "Bowen", "Archie", "Mueller", "Langer",
    "Lorenz", "Gu", "Holloway", "Robbins", "Graham", "Wilke", "Fernandez", "Gupta", "Dubois",
    "Schäfer", "Tanaka",
]
JOB_TITLES = [
    "Marketing Assistant", "Retail Manager", "Product Manager", "Director", "Designer",
    "Attorney", "Developer", "Sales Rep", "Auditor", "IT Admin", "Engineer", "CVP Engineering",
]
DEPARTMENTS = ["Marketing", "Retail", "Engineering", "Executive Management", "Sales & Marketing",
               "Legal", "Finance", "Operations", "R&D", "Human Resources"]
OFFICES = ["18/2111", "131/1104", "20/1101", "12/1110", "19/3123", "14/1108", "Paris 4e", "Tōkyō 7F"]
CITIES = [("Redmond", "WA", "US", "98052"), ("Seattle", "WA", "US", "98101"),
          ("Bellevue", "WA", "US", "98004"), ("München", "BY", "DE", "80331"),
          ("Paris", "IDF", "FR", "75004"), ("東京", "Tokyo", "JP", "100-0001"),
          ("Zürich", "ZH", "CH", "8001"), ("Québec", "QC", "CA", "G1R 4P5")]
STREETS = ["1 Microsoft Way", "4567 Main St", "10 Contoso Way", "Königstraße 12", "12 rue de l'Église",
           "丸の内1-1", "Bahnhofstrasse 3", "221B Baker Street"]

EXTERNAL_PEOPLE = [
    ("Microsoft Planner", "noreply@Planner.Office365.com"),
    ("Fabrikam Billing", "billing@fabrikam.com"),
    ("Pavel Bansky", "pavelb@fabrikam.onmicrosoft.com"),
    ("Garth Fort", "garth@northwindtraders.com"),
    ("Renée Lefèvre", "renee.lefevre@example.fr"),
    ("佐藤 花子", "hanako.sato@example.jp"),
    ("Dana Swope", "danas@adatum.com"),
    ("Randi Welch", "randiw@adatum.com"),
    ("Samantha Booth", "samanthab@tailspintoys.com"),
    ("Conor O'Brien", "conor.obrien@example.ie"),
    ("Newsletter", "news@wingtiptoys.com"),
    ("GitHub", "notifications@github.com"),
]

COMPANIES = ["Contoso, Inc.", "Fabrikam", "Northwind Traders", "Adatum Corporation", "Tailspin Toys",
             "Wingtip Toys", "Litware, Inc.", "Coho Winery", "Café Müller GmbH", "株式会社サンプル",
             "O'Reilly & Sons"]

# Conversation topics: the first message of a thread uses the topic as its subject, replies
# prefix "RE: ", forwards "FW: ".
TOPICS = [
    "Q3 budget review", "Did you see last night's game?", "Team offsite plan", "Contoso Marketing plan",
    "Welcome to our group!", "Orientation", "Let's go for lunch", "Quarterly sales numbers",
    "Réunion de l'équipe", "Über die Präsentation", "日本語のテスト", "Café meeting ☕",
    "O'Brien's proposal", "100% done? Final \"draft\" attached", "Re-org & next steps",
    "Invoice #4711", "Shipment delayed 🚚", "Holiday schedule", "Security review: action required",
    "Kick-off: Project Alpha", "Project Beta status", "lowercase subject line", "ALL CAPS NOTICE",
    "Parking garage closed", "Design review – v2", "Customer escalation (urgent)", "Weekly digest",
    "Naïve question about APIs", "Emoji test 🎉🚀", "Mixed CaSe SubJect", "Brown-bag: OData tips",
    "Expense report for März", "Zoë's farewell party", "Lunch & learn: Graph", "Server maintenance window",
    "Contract renewal — Fabrikam", "New hire: Søren", "Board deck feedback", "It's done!", "Hello, world",
]

SENTENCES = [
    "Please find the details below.", "Let me know what you think.", "Can we move this to next week?",
    "I've attached the latest version.", "Thanks for the quick turnaround!", "See you at the meeting.",
    "The numbers look good so far.", "We need a decision by Friday.", "Could you review the draft?",
    "I'll follow up with the team.", "Here's the agenda for tomorrow.", "Great work, everyone!",
    "Don't forget the deadline.", "The café downstairs is closed today.", "Grüße aus München.",
    "よろしくお願いします。", "C'est noté, merci.", "Ping me if anything's unclear 🙂",
    "The budget was approved.", "We're still waiting on legal's sign-off.",
    "Please update the tracker with your status.", "Customer feedback has been very positive.",
    "Let's sync up after the all-hands.", "I'm out of office on Monday.",
]

CATEGORIES = ["Red category", "Blue category", "Green category", "Yellow category",
              "Orange category", "Purple category", "Travel", "Clients & Partners"]

ATTACHMENT_FILES = [
    ("report.pdf", "application/pdf"), ("budget.xlsx",
     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("notes.txt", "text/plain"), ("diagram.png", "image/png"), ("agenda.docx",
     "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("Übersicht.csv", "text/csv"), ("photo.jpg", "image/jpeg"),
]

MEETING_SUBJECTS = [
    "Weekly sync", "1:1", "Sprint planning", "All hands", "Design review", "Customer call",
    "Lunch with Diego", "Réunion budget", "Standup", "Quarterly business review", "Offsite day",
    "Doctor's appointment", "Vacation 🌴", "Company holiday", "Training: Graph API", "Brainstorm",
]
ROOMS = ["Conf Room 3", "Assembly Hall", "Fourth Coffee", "Harry's Bar", "Salle Éiffel", "会議室A",
         "Home Office", "Microsoft Teams Meeting"]

GROUP_NAMES = [
    ("Golf Assist", "Self help community for golf", True),
    ("Library Assist", "Self help community for library", True),
    ("Sales & Marketing", "Everyone in sales and marketing", True),
    ("Retail", "Retail team", True),
    ("IT Admins", "Security group for IT", False),
    ("All Company", "Everyone", True),
    ("Café Committee", "Plans the café menu ☕", True),
    ("Finance Approvers", "Security group for finance approvals", False),
]
