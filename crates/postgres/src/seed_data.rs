//! The demo supermarket's catalog: 15 categories of 6 staples each, in English and Hebrew.
//! Each staple is sold as a single item and as a family pack (180 products).

/// (name, icon slug, Hebrew name, description)
pub const CATEGORIES: [(&str, &str, &str, &str); 15] = [
    (
        "Fruits & Vegetables",
        "produce",
        "פירות וירקות",
        "Fresh produce from Israeli farms, delivered daily.",
    ),
    (
        "Dairy & Eggs",
        "dairy",
        "מוצרי חלב וביצים",
        "Milk, cheese, yogurt and free-range eggs.",
    ),
    (
        "Meat & Poultry",
        "meat",
        "בשר ועוף",
        "Fresh and kosher meat and poultry.",
    ),
    ("Fish", "fish", "דגים", "Fresh and smoked fish."),
    (
        "Bakery",
        "bakery",
        "מאפייה",
        "Bread, pita and pastries baked every morning.",
    ),
    (
        "Frozen",
        "frozen",
        "קפואים",
        "Frozen vegetables, ready meals and ice cream.",
    ),
    (
        "Beverages",
        "drinks",
        "משקאות",
        "Water, juice, soft drinks, coffee and tea.",
    ),
    (
        "Snacks & Sweets",
        "snacks",
        "חטיפים וממתקים",
        "Chips, chocolate, biscuits and nuts.",
    ),
    (
        "Pantry",
        "pantry",
        "מזווה",
        "Rice, pasta, legumes, oil, spices and sauces.",
    ),
    (
        "Breakfast & Cereals",
        "breakfast",
        "ארוחת בוקר ודגנים",
        "Cereals, spreads, honey and granola.",
    ),
    (
        "Household",
        "household",
        "מוצרי ניקיון ובית",
        "Cleaning supplies, paper goods and kitchenware.",
    ),
    (
        "Personal Care",
        "personal_care",
        "טיפוח אישי",
        "Shampoo, soap, toothpaste and deodorant.",
    ),
    (
        "Baby",
        "baby",
        "תינוקות",
        "Diapers, wipes, formula and baby food.",
    ),
    (
        "Pets",
        "pets",
        "חיות מחמד",
        "Food and care for cats and dogs.",
    ),
    (
        "Health & Organic",
        "health",
        "בריאות ואורגני",
        "Organic, gluten-free and wellness products.",
    ),
];

/// (English name, Hebrew name, unit, price in agorot, organic)
pub type Staple = (&'static str, &'static str, &'static str, i64, bool);

/// Six staples per category, in the order of [`CATEGORIES`].
pub const STAPLES: [[Staple; 6]; 15] = [
    [
        ("Tomatoes", "עגבניות", "kg", 790, false),
        ("Cucumbers", "מלפפונים", "kg", 690, false),
        ("Bananas", "בננות", "kg", 990, false),
        ("Red Apples", "תפוחים אדומים", "kg", 1190, false),
        ("Organic Carrots", "גזר אורגני", "kg", 890, true),
        ("Avocado", "אבוקדו", "unit", 450, false),
    ],
    [
        ("Milk 3%", "חלב 3%", "1 l", 690, false),
        ("Cottage Cheese 5%", "קוטג' 5%", "250 g", 590, false),
        (
            "Yellow Cheese Slices",
            "גבינה צהובה פרוסה",
            "200 g",
            1490,
            false,
        ),
        ("Greek Yogurt", "יוגורט יווני", "500 g", 1290, false),
        ("Free-Range Eggs L", "ביצים חופש L", "12 units", 2490, false),
        ("Butter", "חמאה", "200 g", 1090, false),
    ],
    [
        ("Chicken Breast", "חזה עוף", "kg", 4990, false),
        ("Ground Beef", "בשר בקר טחון", "kg", 6990, false),
        ("Chicken Thighs", "ירכיים עוף", "kg", 3990, false),
        ("Turkey Schnitzel", "שניצל הודו", "kg", 5490, false),
        ("Beef Kebab", "קבב בקר", "kg", 5990, false),
        ("Whole Chicken", "עוף שלם", "kg", 2990, false),
    ],
    [
        ("Salmon Fillet", "פילה סלמון", "kg", 10990, false),
        ("Tilapia Fillet", "פילה אמנון", "kg", 5990, false),
        ("Smoked Salmon", "סלמון מעושן", "100 g", 1990, false),
        ("Tuna in Oil", "טונה בשמן", "4 x 160 g", 2190, false),
        ("Sardines", "סרדינים", "125 g", 790, false),
        ("Fish Patties", "קציצות דגים", "500 g", 2690, false),
    ],
    [
        ("Challah", "חלה", "unit", 1290, false),
        ("Whole Wheat Bread", "לחם מלא", "750 g", 1490, false),
        ("Pita Bread", "פיתות", "10 units", 990, false),
        ("Rugelach", "רוגלך", "400 g", 1990, false),
        ("Bagels", "בייגלה", "4 units", 1190, false),
        ("Sourdough Loaf", "לחם מחמצת", "unit", 2290, false),
    ],
    [
        ("Frozen Peas", "אפונה קפואה", "800 g", 1290, false),
        ("Frozen Schnitzel", "שניצל קפוא", "1 kg", 3990, false),
        ("Vanilla Ice Cream", "גלידת וניל", "1 l", 2490, false),
        ("Frozen Pizza", "פיצה קפואה", "unit", 2990, false),
        ("Frozen Burekas", "בורקס קפוא", "1 kg", 2190, false),
        (
            "Frozen Mixed Vegetables",
            "ירקות מעורבים קפואים",
            "800 g",
            1390,
            false,
        ),
    ],
    [
        ("Mineral Water", "מים מינרליים", "6 x 1.5 l", 1490, false),
        ("Orange Juice", "מיץ תפוזים", "1 l", 1290, false),
        ("Cola", "קולה", "1.5 l", 890, false),
        ("Ground Coffee", "קפה טחון", "250 g", 2490, false),
        ("Green Tea", "תה ירוק", "25 bags", 1590, false),
        ("Sparkling Water", "מים מוגזים", "1.5 l", 590, false),
    ],
    [
        ("Potato Chips", "צ'יפס תפוחי אדמה", "200 g", 890, false),
        ("Milk Chocolate", "שוקולד חלב", "100 g", 690, false),
        ("Peanut Puffs", "חטיף בוטנים", "80 g", 490, false),
        ("Roasted Almonds", "שקדים קלויים", "200 g", 1990, false),
        ("Wafer Biscuits", "ופלים", "500 g", 1190, false),
        ("Pretzels", "בייגלה מלוח", "400 g", 790, false),
    ],
    [
        ("Basmati Rice", "אורז בסמטי", "1 kg", 1290, false),
        ("Spaghetti", "ספגטי", "500 g", 590, false),
        ("Olive Oil", "שמן זית", "750 ml", 3990, false),
        ("Chickpeas", "חומוס יבש", "1 kg", 990, false),
        ("Tahini", "טחינה", "500 g", 1690, false),
        ("Canned Tomatoes", "עגבניות משומרות", "400 g", 590, false),
    ],
    [
        ("Corn Flakes", "קורנפלקס", "750 g", 1790, false),
        ("Granola", "גרנולה", "500 g", 2190, false),
        ("Honey", "דבש", "500 g", 2990, false),
        ("Chocolate Spread", "ממרח שוקולד", "400 g", 1590, false),
        ("Oatmeal", "שיבולת שועל", "500 g", 890, false),
        ("Strawberry Jam", "ריבת תות", "340 g", 1290, false),
    ],
    [
        ("Dish Soap", "נוזל כלים", "750 ml", 990, false),
        ("Laundry Detergent", "אבקת כביסה", "3 kg", 4990, false),
        ("Toilet Paper", "נייר טואלט", "32 rolls", 4490, false),
        ("Paper Towels", "מגבות נייר", "6 rolls", 2290, false),
        ("Floor Cleaner", "נוזל לניקוי רצפות", "1 l", 1190, false),
        ("Trash Bags", "שקיות אשפה", "50 units", 1490, false),
    ],
    [
        ("Shampoo", "שמפו", "700 ml", 1990, false),
        ("Body Wash", "סבון גוף", "750 ml", 1790, false),
        ("Toothpaste", "משחת שיניים", "100 ml", 1290, false),
        ("Deodorant", "דאודורנט", "150 ml", 1590, false),
        ("Hand Soap", "סבון ידיים", "500 ml", 990, false),
        ("Razor Blades", "סכיני גילוח", "4 units", 3990, false),
    ],
    [
        ("Diapers Size 4", "חיתולים מידה 4", "44 units", 5990, false),
        ("Baby Wipes", "מגבונים לתינוק", "3 x 72 units", 2490, false),
        (
            "Infant Formula",
            "תרכובת מזון לתינוקות",
            "700 g",
            6990,
            false,
        ),
        ("Baby Cereal", "דייסה לתינוקות", "400 g", 2290, false),
        ("Baby Shampoo", "שמפו לתינוקות", "500 ml", 1990, false),
        ("Fruit Puree", "מחית פירות", "4 x 100 g", 1690, false),
    ],
    [
        ("Dry Dog Food", "מזון יבש לכלבים", "3 kg", 5990, false),
        ("Dry Cat Food", "מזון יבש לחתולים", "2 kg", 4990, false),
        ("Cat Litter", "חול לחתולים", "10 l", 3490, false),
        ("Dog Treats", "חטיפים לכלבים", "200 g", 1990, false),
        (
            "Wet Cat Food",
            "מזון רטוב לחתולים",
            "12 x 85 g",
            3290,
            false,
        ),
        ("Dog Shampoo", "שמפו לכלבים", "500 ml", 2490, false),
    ],
    [
        ("Organic Quinoa", "קינואה אורגנית", "500 g", 2490, true),
        ("Gluten-Free Bread", "לחם ללא גלוטן", "500 g", 2690, false),
        (
            "Organic Almond Milk",
            "משקה שקדים אורגני",
            "1 l",
            1890,
            true,
        ),
        ("Vitamin D Drops", "טיפות ויטמין D", "15 ml", 4990, false),
        ("Organic Dates", "תמרים אורגניים", "500 g", 2990, true),
        ("Whole Wheat Pasta", "פסטה מחיטה מלאה", "500 g", 890, false),
    ],
];

/// (name, address) — the first is the warehouse (delivery source).
pub const BRANCHES: [(&str, &str); 4] = [
    ("Mami Central Warehouse", "12 HaMelacha St, Rishon LeZion"),
    ("Mami Tel Aviv - Dizengoff", "50 Dizengoff St, Tel Aviv"),
    ("Mami Haifa - Carmel", "120 HaNassi Ave, Haifa"),
    ("Mami Jerusalem - Talpiot", "17 Yad Harutzim St, Jerusalem"),
];
